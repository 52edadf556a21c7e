"""The kata's harness: course manifest, implementation loader, comparison helpers, pytest plugin,
hints, quizzes, experiments runner and the progress report. Learner code never lives here."""
