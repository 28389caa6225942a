from figvault.cli import main

main()
