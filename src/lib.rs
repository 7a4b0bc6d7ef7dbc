//! `secrets`: SOPS-compatible, format-preserving encryption of the configuration files a team
//! already commits to Git.
//!
//! The data flows `cli` → `document` (bytes ↔ leaves with their spans) → `crypto` (data key,
//! values, MAC, age) → `store` (atomic writes). Only `cli` prints or reads the environment.
#![forbid(unsafe_code)]

pub mod access;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod document;
pub mod drivers;
pub mod error;
pub mod git;
pub mod history;
pub mod lifecycle;
pub mod scan;
pub mod store;
pub mod time;
