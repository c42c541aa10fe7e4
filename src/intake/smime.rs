//! S/MIME verification of incoming mail (placeholder, being written).
