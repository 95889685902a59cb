CREATE TABLE entries (
    id serial PRIMARY KEY,
    text text NOT NULL
);
INSERT INTO entries (text) VALUES ('opening balance');
