//! Tests of the secretariat's tools: status (filled in by its part).
