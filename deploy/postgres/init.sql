-- Runs once, when the PostgreSQL volume is first created (docker-entrypoint-initdb.d).
-- POSTGRES_DB already made `codetutor` (the judge's submissions, problems, verdicts);
-- the Hub keeps its users, tokens and servers in a database of its own.
CREATE DATABASE jupyterhub OWNER codetutor;
