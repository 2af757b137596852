//! Replays pcap captures of real drivers against any server and compares the
//! answers, to prove wire conformance.
//!
//! # Layout
//! Empty until the conformance work fills it.
#![deny(clippy::print_stdout)]
