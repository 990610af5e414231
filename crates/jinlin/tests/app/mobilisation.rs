//! Mobilisation: sending, marking households reached, live coverage.
