"""Hint texts, one module per part: what feedback tells a student whose output matches a known
mistake (the wrong versions themselves are in ../mistakes/, which never ships to students)."""
