"""Fixtures of the tests of the site as a whole: settings, deploy, security, roles, translations, jobs, checks, health.

A fixture only these tests use goes here. Today they need only the shared ones (people,
voice messages, broadcasts, calls), from the fixture modules listed in tests/conftest.py.
"""
