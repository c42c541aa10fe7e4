//! Tests of the secretariat's tools: search_report (filled in by its part).
