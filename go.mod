module nemo-migrate

go 1.26
