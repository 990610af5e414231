//! Tests of In-service party members: dual reporting to the residence and the paired compound, the three ones, and service records with points.
