//! Tests of the secretariat's tools: commands (filled in by its part).
