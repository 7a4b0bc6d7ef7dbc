//! Integration tests: they drive the real `secrets` binary (and the reference `sops` binary for
//! interoperability) on files in temporary directories, with a scrubbed environment.

mod bad_input;
mod canary;
mod config;
mod deploy;
mod edit;
mod groups;
mod hygiene;
mod identities;
mod interop;
mod keygen;
mod kill;
mod limits;
mod rekey;
mod roundtrip;
mod scan;
mod strict;
mod tamper;
mod util;
