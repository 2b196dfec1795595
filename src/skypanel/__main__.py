from skypanel.cli import main

main()
