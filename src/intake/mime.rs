//! MIME walking of the signed content: which files were attached (placeholder).
