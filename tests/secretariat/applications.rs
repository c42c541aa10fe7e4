//! Tests of the secretariat's tools: applications (filled in by its part).
