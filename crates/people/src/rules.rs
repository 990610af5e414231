//! Pure rules about personal data.
