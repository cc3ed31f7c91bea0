from hithe.cli.main import main

main()
