module favorite-athlete/bench/conns

go 1.19
