-- Written by make_fixture.sh --scores 0.2.0: the 0.2.0 library's scores of
-- the probes by the models of fixture_0.1.0.sql, as float8send bytes.
CREATE TABLE current_scores (user_id text, probe int, score_bytes text, PRIMARY KEY (user_id, probe));
INSERT INTO current_scores VALUES ('u0', 1, E'\\x3fd722db5def24b0');
INSERT INTO current_scores VALUES ('u0', 2, E'\\x3fefffa218e6c366');
INSERT INTO current_scores VALUES ('u0', 3, E'\\x3fefffb04495e659');
INSERT INTO current_scores VALUES ('u0', 4, E'\\x3fefffb0698816dc');
INSERT INTO current_scores VALUES ('u1', 1, E'\\x3fee7ebb61ef79cb');
INSERT INTO current_scores VALUES ('u1', 2, E'\\x3feffff82015b5ea');
INSERT INTO current_scores VALUES ('u1', 3, E'\\x3fe7d17854ecdc2c');
INSERT INTO current_scores VALUES ('u1', 4, E'\\x3feffff814300f8b');
INSERT INTO current_scores VALUES ('u2', 1, E'\\x3fe48bf259a7e1c2');
INSERT INTO current_scores VALUES ('u2', 2, E'\\x3feffff6a6d92313');
INSERT INTO current_scores VALUES ('u2', 3, E'\\x3feffff8103f6ba3');
INSERT INTO current_scores VALUES ('u2', 4, E'\\x3feffff8142e96ba');
INSERT INTO current_scores VALUES ('u3', 1, E'\\x3feffa87e91150ae');
INSERT INTO current_scores VALUES ('u3', 2, E'\\x3feffff7e2b4799b');
INSERT INTO current_scores VALUES ('u3', 3, E'\\x3fea3d7820a382b9');
INSERT INTO current_scores VALUES ('u3', 4, E'\\x3feffff814390027');
INSERT INTO current_scores VALUES ('u4', 1, E'\\x3fe7829345fcd179');
INSERT INTO current_scores VALUES ('u4', 2, E'\\x3feffff65dfe76b6');
INSERT INTO current_scores VALUES ('u4', 3, E'\\x3fefff00de6154ca');
INSERT INTO current_scores VALUES ('u4', 4, E'\\x3feffff814261ee0');
INSERT INTO current_scores VALUES ('u5', 1, E'\\x3feffff7b53e978a');
INSERT INTO current_scores VALUES ('u5', 2, E'\\x3feffff785b4139a');
INSERT INTO current_scores VALUES ('u5', 3, E'\\x3fea07befc5a9751');
INSERT INTO current_scores VALUES ('u5', 4, E'\\x3feffff7b9582838');
