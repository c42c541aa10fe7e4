//! Tests of the secretariat's tools: maintenance (filled in by its part).
