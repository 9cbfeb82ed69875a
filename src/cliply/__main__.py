from cliply.cli import main

main()
