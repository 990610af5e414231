//! Tests of Social organisations admitted to serve compounds and the services they run: sessions with venue, capacity, registration, check-in and feedback, and their figures.
