-- Seed data for the notes database.
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  age INTEGER
);

CREATE TABLE IF NOT EXISTS notes (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  tag TEXT,
  created_at TIMESTAMP NOT NULL
);

INSERT INTO users (id, email, name, age) VALUES
  (1, 'ada.lovelace@example.org', 'Ada Lovelace', 69),
  (2, 'alan.turing@example.org', 'Alan Turing', 62),
  (3, 'grace.hopper@example.org', 'Grace Hopper', 29),
  (4, 'linus.torvalds@example.org', 'Linus Torvalds', 45),
  (5, 'margaret.hamilton@example.org', 'Margaret Hamilton', 75),
  (6, 'dennis.ritchie@example.org', 'Dennis Ritchie', 22),
  (7, 'barbara.liskov@example.org', 'Barbara Liskov', 35),
  (8, 'ken.thompson@example.org', 'Ken Thompson', 78),
  (9, 'radia.perlman@example.org', 'Radia Perlman', 19),
  (10, 'frances.allen@example.org', 'Frances Allen', 58),
  (11, 'guido.rossum@example.org', 'Guido Rossum', 23),
  (12, 'bjarne.stroustrup@example.org', 'Bjarne Stroustrup', 69),
  (13, 'edsger.dijkstra@example.org', 'Edsger Dijkstra', 34),
  (14, 'donald.knuth@example.org', 'Donald Knuth', 23),
  (15, 'john.backus@example.org', 'John Backus', 56),
  (16, 'sophie.wilson@example.org', 'Sophie Wilson', 72),
  (17, 'tim.berners-lee@example.org', 'Tim Berners-Lee', 32),
  (18, 'vint.cerf@example.org', 'Vint Cerf', 22),
  (19, 'katherine.johnson@example.org', 'Katherine Johnson', 34),
  (20, 'hedy.lamarr@example.org', 'Hedy Lamarr', 73);

INSERT INTO notes (id, title, body, tag, created_at) VALUES (1, 'Cheese and apples', 'yogurt tea bread eggs flour', 'home', '2026-02-11 01:01:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (2, 'Butter and sugar', 'bread beans pasta eggs lemons', 'reading', '2026-03-12 02:02:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (3, 'Eggs and tomatoes', 'eggs flour lemons bread sugar', 'home', '2026-04-13 03:03:00');
INSERT ININSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
INSERT INTO notes (title, body) VALUES ('Milk', 'Buy milk');
