//! Tests of the ratings capability.
