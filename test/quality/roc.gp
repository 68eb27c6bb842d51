# test/quality/roc.gp: draw the ROC curves written by evaluate.py.
#
# Called by test/quality/run.sh as
#   gnuplot -e "datadir='DIR'; output='FILE'" test/quality/roc.gp
# DIR holds roc_extension.dat, roc_naive_svm.dat and roc_freeman.dat
# (columns: false-positive rate, detection rate).  The left panel has a log
# false-positive axis from 1e-4 to 1, where alert budgets live; the right
# panel is the whole curve on linear axes.

set terminal pngcairo size 1400,620 enhanced font "DejaVu Sans,12"
set output output

extension = datadir."/roc_extension.dat"
naive = datadir."/roc_naive_svm.dat"
freeman = datadir."/roc_freeman.dat"

set style line 1 lc rgb "#c0392b" lw 2.5
set style line 2 lc rgb "#7f8c8d" lw 2 dt 2
set style line 3 lc rgb "#2471a3" lw 2.5
set style line 4 lc rgb "#999999" lw 1 dt 3

set multiplot layout 1,2 title "Takeover detection on the generated benchmark (attacks = positives)" font ",14"

set grid xtics ytics mxtics
set key left top box opaque
set ylabel "detection rate (share of takeovers alarmed)"
set yrange [0:1]
set ytics 0.1

set logscale x 10
set xrange [1e-4:1]
set format x "10^{%L}"
set xlabel "false-positive rate (share of legitimate logins alarmed), log scale"
set title "Low false-positive rates"
set arrow 1 from 0.01, graph 0 to 0.01, graph 1 nohead ls 4
set arrow 2 from 0.001, graph 0 to 0.001, graph 1 nohead ls 4
set label 1 "1%" at 0.01, graph 0.03 offset 0.4,0 font ",10" tc rgb "#666666"
set label 2 "0.1%" at 0.001, graph 0.03 offset 0.4,0 font ",10" tc rgb "#666666"
plot extension using 1:2 with lines ls 1 title "login\\_anomaly", \
     freeman using 1:2 with lines ls 3 title "Freeman et al. 2016", \
     naive using 1:2 with lines ls 2 title "naive OneClassSVM"

unset arrow 1
unset arrow 2
unset label 1
unset label 2
unset logscale x
set xrange [0:1]
set format x "%g"
set xtics 0.1
set key right bottom box opaque
set xlabel "false-positive rate (share of legitimate logins alarmed)"
set title "Whole curve"
plot extension using 1:2 with lines ls 1 title "login\\_anomaly", \
     freeman using 1:2 with lines ls 3 title "Freeman et al. 2016", \
     naive using 1:2 with lines ls 2 title "naive OneClassSVM", \
     x with lines ls 4 title "chance"

unset multiplot
