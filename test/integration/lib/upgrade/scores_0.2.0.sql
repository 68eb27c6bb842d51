-- Written by make_fixture.sh --scores 0.2.0: the 0.2.0 library's scores of
-- the probes by the models of fixture_0.1.0.sql, as float8send bytes.
CREATE TABLE current_scores (user_id text, probe int, score_bytes text, PRIMARY KEY (user_id, probe));
INSERT INTO current_scores VALUES ('u0', 1, E'\\x3fd62923c82e20fe');
INSERT INTO current_scores VALUES ('u0', 2, E'\\x3feffec58e483ceb');
INSERT INTO current_scores VALUES ('u0', 3, E'\\x3feffef500eb7055');
INSERT INTO current_scores VALUES ('u0', 4, E'\\x3feffef57ca0f750');
INSERT INTO current_scores VALUES ('u1', 1, E'\\x3fecdb857bbbd24c');
INSERT INTO current_scores VALUES ('u1', 2, E'\\x3fefffe5a0d2b1bd');
INSERT INTO current_scores VALUES ('u1', 3, E'\\x3fe7e95b9a8f90e1');
INSERT INTO current_scores VALUES ('u1', 4, E'\\x3fefffe578fb16d6');
INSERT INTO current_scores VALUES ('u2', 1, E'\\x3fe40d4920b94de3');
INSERT INTO current_scores VALUES ('u2', 2, E'\\x3fefffe0b17e6ca0');
INSERT INTO current_scores VALUES ('u2', 3, E'\\x3fefffe56bc93ea2');
INSERT INTO current_scores VALUES ('u2', 4, E'\\x3fefffe578f628e6');
INSERT INTO current_scores VALUES ('u3', 1, E'\\x3fefda56f05e6e4f');
INSERT INTO current_scores VALUES ('u3', 2, E'\\x3fefffe4d3448163');
INSERT INTO current_scores VALUES ('u3', 3, E'\\x3fe9eb229e5fe748');
INSERT INTO current_scores VALUES ('u3', 4, E'\\x3fefffe57919072e');
INSERT INTO current_scores VALUES ('u4', 1, E'\\x3fe79b0bb5641273');
INSERT INTO current_scores VALUES ('u4', 2, E'\\x3fefffdfbd833c08');
INSERT INTO current_scores VALUES ('u4', 3, E'\\x3feffeef484d9e06');
INSERT INTO current_scores VALUES ('u4', 4, E'\\x3fefffe578d9ccf9');
INSERT INTO current_scores VALUES ('u5', 1, E'\\x3fefffe43b065149');
INSERT INTO current_scores VALUES ('u5', 2, E'\\x3fefffe39bd06905');
INSERT INTO current_scores VALUES ('u5', 3, E'\\x3fe9b321eb6588fc');
INSERT INTO current_scores VALUES ('u5', 4, E'\\x3fefffe448c13688');
