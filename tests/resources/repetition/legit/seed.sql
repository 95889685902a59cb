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
INSERT INTO notes (id, title, body, tag, created_at) VALUES (4, 'Tomatoes and tea', 'tea sugar bread yogurt tomatoes', 'work', '2026-05-14 04:04:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (5, 'Flour and apples', 'garlic lemons apples flour coffee', 'money', '2026-06-15 05:05:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (6, 'Garlic and flour', 'oats rice coffee sugar tea', 'todo', '2026-07-16 06:06:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (7, 'Butter and coffee', 'flour salmon eggs sugar bread', 'money', '2026-08-17 07:07:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (8, 'Pasta and carrots', 'oats flour lemons cheese spinach', 'money', '2026-09-18 08:08:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (9, 'Spinach and butter', 'garlic tomatoes rice salmon eggs', 'money', '2026-01-19 09:09:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (10, 'Garlic and beans', 'carrots cheese tofu spinach garlic', 'money', '2026-02-20 00:10:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (11, 'Eggs and coffee', 'beans lemons rice cheese apples', 'travel', '2026-03-21 01:11:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (12, 'Lemons and bread', 'oats eggs flour sugar cheese', 'later', '2026-04-22 02:12:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (13, 'Salmon and butter', 'honey carrots sugar spinach eggs', 'home', '2026-05-23 03:13:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (14, 'Onions and carrots', 'salmon oats eggs bread tofu', 'urgent', '2026-06-24 04:14:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (15, 'Tea and sugar', 'oats spinach garlic salmon yogurt', 'later', '2026-07-25 05:15:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (16, 'Milk and spinach', 'butter rice honey coffee carrots', 'work', '2026-08-26 06:16:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (17, 'Pasta and garlic', 'apples tofu tomatoes yogurt carrots', 'home', '2026-09-27 07:17:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (18, 'Rice and spinach', 'yogurt flour onions apples lemons', 'health', '2026-01-10 08:18:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (19, 'Onions and salmon', 'lemons butter oats yogurt tomatoes', 'ideas', '2026-02-11 09:19:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (20, 'Eggs and rice', 'apples tomatoes oats milk carrots', 'money', '2026-03-12 00:20:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (21, 'Rice and onions', 'garlic milk apples lemons flour', 'later', '2026-04-13 01:21:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (22, 'Honey and sugar', 'cheese apples salmon beans honey', 'work', '2026-05-14 02:22:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (23, 'Spinach and oats', 'flour yogurt coffee carrots tea', 'reading', '2026-06-15 03:23:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (24, 'Bread and pasta', 'eggs pasta spinach rice coffee', 'later', '2026-07-16 04:24:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (25, 'Honey and bread', 'coffee milk sugar apples flour', 'home', '2026-08-17 05:25:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (26, 'Butter and honey', 'milk eggs pasta honey yogurt', 'ideas', '2026-09-18 06:26:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (27, 'Tea and onions', 'butter honey carrots coffee spinach', 'travel', '2026-01-19 07:27:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (28, 'Carrots and garlic', 'eggs apples coffee tofu cheese', 'urgent', '2026-02-20 08:28:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (29, 'Carrots and salmon', 'rice beans milk pasta butter', 'ideas', '2026-03-21 09:29:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (30, 'Salmon and flour', 'milk beans garlic tea eggs', 'urgent', '2026-04-22 00:30:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (31, 'Beans and butter', 'rice butter tomatoes flour beans', 'later', '2026-05-23 01:31:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (32, 'Tea and tomatoes', 'honey pasta tomatoes yogurt tofu', 'todo', '2026-06-24 02:32:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (33, 'Pasta and beans', 'carrots butter tofu milk onions', 'travel', '2026-07-25 03:33:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (34, 'Onions and pasta', 'salmon honey butter spinach tofu', 'later', '2026-08-26 04:34:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (35, 'Butter and eggs', 'tomatoes coffee carrots pasta cheese', 'todo', '2026-09-27 05:35:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (36, 'Carrots and honey', 'honey milk carrots tea butter', 'home', '2026-01-10 06:36:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (37, 'Oats and coffee', 'yogurt salmon pasta carrots rice', 'reading', '2026-02-11 07:37:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (38, 'Tea and cheese', 'eggs tofu yogurt spinach rice', 'ideas', '2026-03-12 08:38:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (39, 'Apples and milk', 'apples sugar spinach tea honey', 'money', '2026-04-13 09:39:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (40, 'Carrots and oats', 'butter apples flour milk tofu', 'home', '2026-05-14 00:40:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (41, 'Beans and tofu', 'apples lemons pasta milk onions', 'todo', '2026-06-15 01:41:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (42, 'Garlic and beans', 'tomatoes sugar cheese onions flour', 'reading', '2026-07-16 02:42:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (43, 'Apples and bread', 'tofu butter spinach oats sugar', 'health', '2026-08-17 03:43:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (44, 'Lemons and beans', 'apples flour beans milk spinach', 'ideas', '2026-09-18 04:44:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (45, 'Honey and milk', 'apples rice carrots honey tofu', 'home', '2026-01-19 05:45:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (46, 'Flour and bread', 'cheese oats beans flour carrots', 'home', '2026-02-20 06:46:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (47, 'Flour and bread', 'tomatoes pasta onions bread coffee', 'health', '2026-03-21 07:47:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (48, 'Spinach and flour', 'milk eggs spinach cheese honey', 'health', '2026-04-22 08:48:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (49, 'Honey and beans', 'pasta salmon onions spinach beans', 'health', '2026-05-23 09:49:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (50, 'Carrots and beans', 'tomatoes salmon beans onions flour', 'todo', '2026-06-24 00:50:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (51, 'Spinach and apples', 'lemons coffee yogurt spinach cheese', 'home', '2026-07-25 01:51:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (52, 'Oats and tomatoes', 'lemons eggs pasta oats garlic', 'home', '2026-08-26 02:52:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (53, 'Apples and salmon', 'tea oats butter apples onions', 'ideas', '2026-09-27 03:53:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (54, 'Spinach and tomatoes', 'tofu coffee yogurt carrots rice', 'todo', '2026-01-10 04:54:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (55, 'Rice and salmon', 'lemons beans yogurt cheese pasta', 'later', '2026-02-11 05:55:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (56, 'Cheese and eggs', 'tofu butter milk cheese flour', 'travel', '2026-03-12 06:56:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (57, 'Spinach and salmon', 'milk yogurt cheese beans honey', 'urgent', '2026-04-13 07:57:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (58, 'Beans and eggs', 'coffee tomatoes eggs onions bread', 'ideas', '2026-05-14 08:58:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (59, 'Onions and apples', 'lemons oats onions yogurt apples', 'health', '2026-06-15 09:59:00');
INSERT INTO notes (id, title, body, tag, created_at) VALUES (60, 'Beans and sugar', 'carrots salmon cheese eggs onions', 'work', '2026-07-16 00:00:00');
