"""A small Django project, as a new user has it after ``startproject``, plus autoscalebot."""
