"""The 3D view of Huế Twin: scenes, side-by-side and difference views, animations through
the day, the offline HTML scene and the leaders' report.

It reads the city (:mod:`twin`) and the result tables (run and comparison folders), never
the simulation's objects; ``docs/architecture.md`` lists its modules. Import the modules
themselves (``from viz.views import View``): this package imports nothing heavy on its own.
"""
