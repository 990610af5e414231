//! Tests of Cohesion pilots (邻聚力工程): pilot compounds designated by streets, by type, with tracked indicators compared with the rest.
