//! Tests of the deliberation capability.
