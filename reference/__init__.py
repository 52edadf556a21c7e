"""Reference solutions. Open a file after your own version passes: it should read like the lesson."""
