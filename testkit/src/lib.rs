//! Test harness (filled by the harness work).
