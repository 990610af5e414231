//! Importing the national statistical division codes.
