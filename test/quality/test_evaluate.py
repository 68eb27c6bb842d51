"""Unit tests of the evaluation math in evaluate.py, on small inputs with known results.

Run from the repository root with
    python3 -m unittest discover -s test/quality
or from test/quality with `python3 -m unittest`.
"""

import math
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import evaluate  # noqa: E402


class RocAucTest(unittest.TestCase):

    def test_perfect_scores(self):
        self.assertEqual(evaluate.roc_auc([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.8, 0.9]), 1.0)

    def test_inverted_scores(self):
        self.assertEqual(evaluate.roc_auc([0, 0, 0, 1, 1], [0.8, 0.9, 0.7, 0.1, 0.2]), 0.0)

    def test_all_tied_is_one_half(self):
        self.assertEqual(evaluate.roc_auc([0, 1, 0, 1, 0], [0.5] * 5), 0.5)

    def test_partial_ties_count_one_half(self):
        # Pairs (attack, legit): 0.9 beats both 0.1 and 0.5; 0.5 beats 0.1
        # and ties 0.5.  U = 1 + 1 + 1 + 0.5 = 3.5 of 4 pairs.
        self.assertEqual(evaluate.roc_auc([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1]), 3.5 / 4)

    def test_matches_pair_count(self):
        rng = random.Random(7)
        labels = [rng.random() < 0.2 for _ in range(300)]
        # Rounding to one decimal makes many ties.
        scores = [round(rng.random() + 0.3 * label, 1) for label in labels]
        positives = [s for s, label in zip(scores, labels) if label]
        negatives = [s for s, label in zip(scores, labels) if not label]
        wins = sum(1 for p in positives for n in negatives if p > n)
        ties = sum(1 for p in positives for n in negatives if p == n)
        expected = (wins + 0.5 * ties) / (len(positives) * len(negatives))
        self.assertAlmostEqual(evaluate.roc_auc(labels, scores), expected, places=12)

    def test_random_scores_near_one_half(self):
        rng = random.Random(1)
        labels = [rng.random() < 0.5 for _ in range(20000)]
        auc = evaluate.roc_auc(labels, [rng.random() for _ in range(20000)])
        self.assertLess(abs(auc - 0.5), 0.02)

    def test_null_scores_rank_lowest(self):
        # The NULL attack ranks below every legitimate login; the scored one
        # ranks above both.
        self.assertEqual(evaluate.roc_auc([1, 1, 0, 0], [-math.inf, 0.9, 0.2, 0.3]), 0.5)

    def test_null_scores_tie_with_each_other(self):
        self.assertEqual(evaluate.roc_auc([1, 0], [-math.inf, -math.inf]), 0.5)

    def test_rejects_nan(self):
        with self.assertRaises(ValueError):
            evaluate.roc_auc([1, 0], [math.nan, 0.1])

    def test_rejects_one_class(self):
        with self.assertRaises(ValueError):
            evaluate.roc_auc([1, 1], [0.1, 0.2])


class MidranksTest(unittest.TestCase):

    def test_ties_share_mean_rank(self):
        self.assertEqual(evaluate.midranks([3, 1, 3, 2, 3]), [4, 1, 4, 2, 4])


class ThresholdAtFprTest(unittest.TestCase):

    def test_distinct_scores(self):
        negatives = [float(i) for i in range(100)]
        threshold = evaluate.threshold_at_fpr(negatives, 0.01)
        self.assertEqual(threshold, 98.0)
        self.assertEqual(evaluate.alarm_rate(negatives, threshold), 0.01)

    def test_tenth_of_a_percent(self):
        negatives = [float(i) for i in range(1000)]
        threshold = evaluate.threshold_at_fpr(negatives, 0.001)
        self.assertEqual(threshold, 998.0)
        self.assertEqual(evaluate.alarm_rate(negatives, threshold), 0.001)

    def test_ties_keep_rate_at_or_below_target(self):
        # Three legitimate logins share the top score: alarming on any of
        # them costs 3%, so a 1% target alarms on none of them.
        negatives = [0.9, 0.9, 0.9] + [0.1] * 97
        threshold = evaluate.threshold_at_fpr(negatives, 0.01)
        self.assertEqual(threshold, 0.9)
        self.assertEqual(evaluate.alarm_rate(negatives, threshold), 0.0)

    def test_ties_at_target_alarm(self):
        negatives = [0.9, 0.9, 0.9] + [0.1] * 97
        threshold = evaluate.threshold_at_fpr(negatives, 0.03)
        self.assertEqual(threshold, 0.1)
        self.assertAlmostEqual(evaluate.alarm_rate(negatives, threshold), 0.03)

    def test_positive_tied_with_threshold_does_not_alarm(self):
        negatives = [0.9, 0.5] + [0.1] * 98
        threshold = evaluate.threshold_at_fpr(negatives, 0.01)
        self.assertEqual(threshold, 0.5)
        positives = [0.5, 0.6, 0.95]
        self.assertAlmostEqual(evaluate.alarm_rate(positives, threshold), 2 / 3)

    def test_zero_target_is_max_score(self):
        negatives = [0.2, 0.7, 0.4]
        self.assertEqual(evaluate.threshold_at_fpr(negatives, 0.0), 0.7)

    def test_full_target_alarms_everything(self):
        self.assertEqual(evaluate.threshold_at_fpr([0.2, 0.7], 1.0), -math.inf)

    def test_null_scores_never_alarm(self):
        negatives = [-math.inf] * 50 + [0.3] * 50
        threshold = evaluate.threshold_at_fpr(negatives, 0.6)
        self.assertEqual(threshold, -math.inf)
        self.assertEqual(evaluate.alarm_rate(negatives, threshold), 0.5)


class CompareAtFprsTest(unittest.TestCase):

    def test_rates_follow_thresholds(self):
        # 10 legitimate logins scored 0..9, 4 attacks scored 2.5, 5.5, 8.5,
        # 9.5: thresholds 9, 8 and 4 let 0, 1 and 5 legitimate logins through
        labels = [False] * 10 + [True] * 4
        scores = list(range(10)) + [2.5, 5.5, 8.5, 9.5]
        self.assertEqual(evaluate.tpr_at_fprs(labels, scores, (0.0, 0.1, 0.5)),
                         [0.25, 0.5, 0.75])

    def test_count_at_least_counts_ties(self):
        self.assertEqual(evaluate.count_at_least([0.5, 0.4, 0.9], [0.5, 0.6, 0.1]), 2)


class RocPointsTest(unittest.TestCase):

    def test_ties_move_diagonally(self):
        fpr, tpr = evaluate.roc_points([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1])
        self.assertEqual(fpr, [0.0, 0.0, 0.5, 1.0])
        self.assertEqual(tpr, [0.0, 0.5, 1.0, 1.0])

    def test_area_under_points_equals_auc(self):
        rng = random.Random(3)
        labels = [rng.random() < 0.1 for _ in range(500)]
        scores = [round(rng.random() + 0.5 * label, 2) for label in labels]
        fpr, tpr = evaluate.roc_points(labels, scores)
        # Trapezoids, so a diagonal tie segment counts one half.
        area = sum((fpr[i + 1] - fpr[i]) * (tpr[i + 1] + tpr[i]) / 2
                   for i in range(len(fpr) - 1))
        self.assertAlmostEqual(area, evaluate.roc_auc(labels, scores), places=12)


class ReadmeBlockTest(unittest.TestCase):

    def test_replaces_only_the_block(self):
        text = "intro\n<!-- quality:begin -->\nold\n<!-- quality:end -->\noutro\n"
        block = "<!-- quality:begin -->\nnew\n<!-- quality:end -->"
        self.assertEqual(evaluate.replace_marked_block(text, block),
                         "intro\n<!-- quality:begin -->\nnew\n<!-- quality:end -->\noutro\n")

    def test_missing_markers_raise(self):
        with self.assertRaises(ValueError):
            evaluate.replace_marked_block("no markers here\n", "x")

    def test_two_blocks_raise(self):
        text = ("<!-- quality:begin -->a<!-- quality:end -->\n"
                "<!-- quality:begin -->b<!-- quality:end -->\n")
        with self.assertRaises(ValueError):
            evaluate.replace_marked_block(text, "x")


if __name__ == "__main__":
    unittest.main()
