"""`python -m skypanel.standins.paypal --port N`: serve a stand-in in the foreground."""

from skypanel.standins.paypal import main

if __name__ == "__main__":
    main()
