"""`python -m runner` behaves exactly like the `runner` console script."""

from runner.entry import main  # the gevent patch runs first, inside runner.entry

if __name__ == "__main__":
    main()
