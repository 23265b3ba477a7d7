from bgremover.cli.main import main

main()
