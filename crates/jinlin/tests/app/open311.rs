//! Tests of open311.
