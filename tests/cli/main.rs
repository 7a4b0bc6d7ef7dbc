//! Integration tests: they drive the real `secrets` binary (and the reference `sops` binary for
//! interoperability) on files in temporary directories, with a scrubbed environment.

mod access;
mod architecture;
mod bad_input;
mod canary;
mod config;
mod deploy;
mod dropin;
mod edit;
mod gitdrivers;
mod groups;
mod history;
mod hygiene;
mod identities;
mod interop;
mod keygen;
mod kill;
mod kms;
mod lifecycle;
mod limits;
mod pgp;
mod rekey;
mod roundtrip;
mod scan;
mod scan_git;
mod scan_precision;
mod stream;
mod strict;
mod tamper;
mod util;
mod vault;
