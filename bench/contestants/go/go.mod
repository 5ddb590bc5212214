module favorite-athlete/bench/contestants/go

go 1.19
