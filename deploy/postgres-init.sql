-- One database per node of the compose federation (docker-compose.yml).
CREATE DATABASE vigil_a OWNER vigil;
CREATE DATABASE vigil_b OWNER vigil;
CREATE DATABASE vigil_c OWNER vigil;
