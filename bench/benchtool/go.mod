module favorite-athlete/bench/benchtool

go 1.19
