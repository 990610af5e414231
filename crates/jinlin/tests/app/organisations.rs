//! Tests of the organisations capability.
