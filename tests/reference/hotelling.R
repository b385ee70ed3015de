## hotelling.R -- reference values for Hotelling T^2 tests.
##
## Run from the repository root:   Rscript tests/reference/hotelling.R
## Output:                          tests/reference/data/hotelling.json
##
## * one-sample and two-sample (pooled covariance) tests from rrcov::T2.test
##   (classical method "c");
## * paired tests = one-sample T2.test on the row differences (mu = 0);
## * two-sample tests WITHOUT assuming equal covariances, computed here by hand
##   (nothing random).  Notation: sample sizes N_i, means xbar_i, unbiased
##   covariances S_i, St_i = S_i / N_i, St = St_1 + St_2, d = xbar_1 - xbar_2,
##   T2 = d' St^{-1} d  (the same statistic for all four procedures):
##
##   Yao (1965), Biometrika 52, 139-147:
##     1/nu = sum_i 1/(N_i - 1) * ( d' St^{-1} St_i St^{-1} d / T2 )^2
##     F = (nu - p + 1) / (nu * p) * T2  ~  F(p, nu - p + 1)
##   Johansen (1980), Biometrika 67, 85-92:
##     A_i = I - (St_1^{-1} + St_2^{-1})^{-1} St_i^{-1}
##     D = 1/2 * sum_i 1/(N_i - 1) * ( tr(A_i^2) + tr(A_i)^2 )
##     q = p + 2 D - 6 D / (p (p - 1) + 2),   nu = p (p + 2) / (3 D)
##     F = T2 / q  ~  F(p, nu)
##   Nel & Van der Merwe (1986), Commun. Statist. Theory Methods 15, 3719-3735:
##     nu = ( tr(St^2) + tr(St)^2 ) / sum_i 1/(N_i - 1) * ( tr(St_i^2) + tr(St_i)^2 )
##     F = (nu - p + 1) / (nu * p) * T2  ~  F(p, nu - p + 1)
##   Krishnamoorthy & Yu (2004), Statist. Probab. Lett. 66, 161-169
##   (modified Nel-Van der Merwe, affine invariant):
##     nu = (p + p^2) / sum_i 1/(N_i - 1) * ( tr((St_i St^{-1})^2) + tr(St_i St^{-1})^2 )
##     F = (nu - p + 1) / (nu * p) * T2  ~  F(p, nu - p + 1)
##   The 1/(N_i - 1) weights follow the papers' notation (n_i = N_i - 1), as in
##   R package SHT (mean2.1965Yao, mean2.1980Johansen, mean2.1986NVM,
##   mean2.2004KY) and Praat.  Johnson & Wichern (Applied Multivariate
##   Statistical Analysis, 6th ed., Sec. 6.3, "Behrens-Fisher problem") print the
##   Krishnamoorthy-Yu nu with 1/N_i instead; that variant is stored as well
##   ("krishnamoorthy_yu_JW") -- it reproduces J&W's nu = 77.6 for the
##   electrical-usage example (n1 = 45, n2 = 55) which is included below from
##   its published summary statistics.
##
## p-values: rrcov::T2.test computes 1 - pf(F, df1, df2), which underflows to
## 0 for very significant results; we store that value ("p.value", as R
## reports it) and pf(F, df1, df2, lower.tail = FALSE) ("p.value_upper_tail").

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
source(file.path(script_dir, "_fixtures.R"))


tr <- function(M) sum(diag(M))

## rrcov::T2.test result -> list
t2_record <- function(htest) {
  st <- htest$statistic; pa <- htest$parameter
  list(T2 = unname(st["T2"]), F = unname(st["F"]),
       df1 = unname(as.numeric(pa["df1"])), df2 = unname(as.numeric(pa["df2"])),
       p.value = htest$p.value,
       p.value_upper_tail = pf(unname(st["F"]), pa["df1"], pa["df2"], lower.tail = FALSE),
       estimate = unname(htest$estimate),    # rows: mean x (, mean y)
       method = htest$method)
}

## the four unequal-covariance procedures (formulas in the header)
behrens_fisher <- function(X1, X2) {
  N1 <- nrow(X1); N2 <- nrow(X2); p <- ncol(X1)
  d <- colMeans(X1) - colMeans(X2)
  St1 <- cov(X1) / N1; St2 <- cov(X2) / N2; St <- St1 + St2
  Sti <- solve(St)
  T2 <- drop(crossprod(d, Sti %*% d))
  ff <- function(nu) {                         # T2 ~ nu p / (nu - p + 1) F(p, nu - p + 1)
    Fs <- (nu - p + 1) / (nu * p) * T2
    list(T2 = T2, nu = nu, F = Fs, df1 = p, df2 = nu - p + 1,
         p.value = pf(Fs, p, nu - p + 1, lower.tail = FALSE))
  }
  ## Yao (1965)
  yao_term <- function(Sti_i, Ni) (drop(crossprod(d, Sti %*% Sti_i %*% Sti %*% d)) / T2)^2 / (Ni - 1)
  nu_yao <- 1 / (yao_term(St1, N1) + yao_term(St2, N2))
  ## Johansen (1980)
  W1 <- solve(St1); W2 <- solve(St2); Wi <- solve(W1 + W2)
  A1 <- diag(p) - Wi %*% W1; A2 <- diag(p) - Wi %*% W2
  D <- 0.5 * ((tr(A1 %*% A1) + tr(A1)^2) / (N1 - 1) + (tr(A2 %*% A2) + tr(A2)^2) / (N2 - 1))
  ## with B_i = St_i St^{-1}, A_i is similar to B_i, so
  ## D = 1/2 * sum_i (tr(B_i^2) + tr(B_i)^2) / (N_i - 1), the Krishnamoorthy-Yu sum
  B1 <- St1 %*% Sti; B2 <- St2 %*% Sti
  stopifnot(all.equal(tr(A1), tr(B1)), all.equal(tr(A1 %*% A1), tr(B1 %*% B1)),
            all.equal(tr(A2), tr(B2)), all.equal(tr(A2 %*% A2), tr(B2 %*% B2)))
  q <- p + 2 * D - 6 * D / (p * (p - 1) + 2)
  nu_joh <- p * (p + 2) / (3 * D)
  johansen <- list(T2 = T2, D = D, q = q, nu = nu_joh, F = T2 / q, df1 = p, df2 = nu_joh,
                   p.value = pf(T2 / q, p, nu_joh, lower.tail = FALSE))
  ## Nel & Van der Merwe (1986)
  nu_nvm <- (tr(St %*% St) + tr(St)^2) /
    ((tr(St1 %*% St1) + tr(St1)^2) / (N1 - 1) + (tr(St2 %*% St2) + tr(St2)^2) / (N2 - 1))
  ## Krishnamoorthy & Yu (2004)
  ky_den <- function(k) (tr(B1 %*% B1) + tr(B1)^2) / (N1 - k) + (tr(B2 %*% B2) + tr(B2)^2) / (N2 - k)
  nu_ky    <- (p + p^2) / ky_den(1)
  nu_ky_jw <- (p + p^2) / ky_den(0)
  list(n1 = N1, n2 = N2, p = p, T2 = T2,
       yao = ff(nu_yao), johansen = johansen, nel_van_der_merwe = ff(nu_nvm),
       krishnamoorthy_yu = ff(nu_ky), krishnamoorthy_yu_JW = ff(nu_ky_jw))
}

## For examples published only as summary statistics (means, covariances,
## sizes): build a data matrix whose sample mean and covariance equal the given
## ones exactly (up to rounding).  All statistics here depend on the data only
## through these moments, so the random starting matrix is irrelevant.
exact_moment_data <- function(xbar, S, N) {
  p <- length(xbar)
  Z <- matrix(rnorm(N * p), N, p)            # any full-rank matrix works
  Z <- scale(Z, scale = FALSE)
  Z <- Z %*% solve(chol(cov(Z))) %*% chol(S) # now cov(Z) == S exactly (up to rounding)
  sweep(Z, 2, xbar, "+")
}

out <- list(`_meta` = meta("hotelling.R"))

## ---------------------------------------------------------------------------
## one-sample tests
## ---------------------------------------------------------------------------
setosa <- as.matrix(iris[iris$Species == "setosa", 1:4])
one <- list(
  list(name = "iris_setosa", data = setosa, mu = c(5, 3.4, 1.5, 0.25),
       source = "datasets::iris, Species == 'setosa', 4 numeric columns"),
  list(name = "swiss", data = as.matrix(swiss), mu = c(70, 50, 15, 10, 40, 20),
       source = "datasets::swiss (6 columns)"),
  list(name = "stackloss", data = as.matrix(stackloss), mu = c(60, 21, 87, 17),
       source = "datasets::stackloss (4 columns)"),
  list(name = "USArrests_mu_near_mean", data = as.matrix(USArrests), mu = c(8, 170, 65, 21),
       source = "datasets::USArrests (4 columns)")
)
out$one_sample <- lapply(one, function(o) {
  r <- T2.test(o$data, mu = o$mu)
  c(list(name = o$name, source = o$source, n = nrow(o$data), p = ncol(o$data),
         columns = I(colnames(o$data)), X = unname(o$data), mu = I(o$mu)),
    t2_record(r))
})

## ---------------------------------------------------------------------------
## two-sample tests (pooled covariance) + unequal-covariance variants
## ---------------------------------------------------------------------------
vers <- as.matrix(iris[iris$Species == "versicolor", 1:4])
virg <- as.matrix(iris[iris$Species == "virginica", 1:4])
mt_cols <- c("mpg", "hp", "wt")
mt_auto <- as.matrix(mtcars[mtcars$am == 0, mt_cols])
mt_man  <- as.matrix(mtcars[mtcars$am == 1, mt_cols])
sw_cols <- c("Fertility", "Agriculture", "Examination", "Education", "Infant.Mortality")
sw_cath <- as.matrix(swiss[swiss$Catholic > 50, sw_cols])   # mostly catholic provinces
sw_prot <- as.matrix(swiss[swiss$Catholic <= 50, sw_cols])

two <- list(
  list(name = "iris_versicolor_vs_virginica", x = vers, y = virg,
       source = "datasets::iris, 4 numeric columns; x = versicolor, y = virginica"),
  list(name = "mtcars_automatic_vs_manual", x = mt_auto, y = mt_man,
       source = "datasets::mtcars columns mpg, hp, wt; x = am == 0 (19 cars), y = am == 1 (13 cars)"),
  list(name = "swiss_catholic_vs_protestant", x = sw_cath, y = sw_prot,
       source = paste("datasets::swiss columns Fertility, Agriculture, Examination, Education,",
                      "Infant.Mortality; x = Catholic > 50, y = Catholic <= 50"))
)
out$two_sample <- lapply(two, function(o) {
  r <- T2.test(o$x, o$y)
  c(list(name = o$name, source = o$source, n1 = nrow(o$x), n2 = nrow(o$y), p = ncol(o$x),
         columns = I(colnames(o$x)), X = unname(o$x), Y = unname(o$y),
         rownames_X = I(rownames(o$x)), rownames_Y = I(rownames(o$y))),
    list(pooled = t2_record(r), unequal_covariances = behrens_fisher(o$x, o$y)))
})

## published summary statistics: Johnson & Wichern, electrical usage of homes
## with (1) and without (2) air conditioning, also Nel & Van der Merwe (1986)
## Example 4.1.  We build data sets with exactly these moments (seeded; the
## test statistics depend on the moments only).
set.seed(20240613)
jw <- list(n1 = 45, xbar1 = c(204.4, 556.6),
           S1 = matrix(c(13825.3, 23823.4, 23823.4, 73107.4), 2),
           n2 = 55, xbar2 = c(130.0, 355.0),
           S2 = matrix(c(8632.0, 19616.7, 19616.7, 55964.5), 2))
X1 <- exact_moment_data(jw$xbar1, jw$S1, jw$n1)
X2 <- exact_moment_data(jw$xbar2, jw$S2, jw$n2)
stopifnot(all.equal(cov(X1), jw$S1), all.equal(colMeans(X2), jw$xbar2))
bf <- behrens_fisher(X1, X2)
stopifnot(abs(bf$krishnamoorthy_yu_JW$nu - 77.6) < 0.05)     # J&W's printed value
out$two_sample_summary_stats <- list(list(
  name = "JW_electrical_usage_NVM1986_example",
  source = paste("Johnson & Wichern, Applied Multivariate Statistical Analysis (6th ed.), Sec. 6.3;",
                 "Nel & Van der Merwe (1986) Example 4.1 -- summary statistics only"),
  n1 = jw$n1, xbar1 = I(jw$xbar1), S1 = jw$S1,
  n2 = jw$n2, xbar2 = I(jw$xbar2), S2 = jw$S2,
  pooled = t2_record(T2.test(X1, X2)),
  unequal_covariances = bf))

## ---------------------------------------------------------------------------
## paired tests: one-sample T2 on the differences, mu = 0
## ---------------------------------------------------------------------------
sleep_w <- cbind(group1 = sleep$extra[sleep$group == 1], group2 = sleep$extra[sleep$group == 2])
paired <- list(
  list(name = "iris_setosa_sepal_vs_petal",
       x = setosa[, c("Sepal.Length", "Sepal.Width")],
       y = setosa[, c("Petal.Length", "Petal.Width")],
       source = paste("datasets::iris setosa: x = (Sepal.Length, Sepal.Width),",
                      "y = (Petal.Length, Petal.Width) of the same flower (numerical example)")),
  list(name = "sleep_drug1_vs_drug2", x = sleep_w[, 1, drop = FALSE], y = sleep_w[, 2, drop = FALSE],
       source = "datasets::sleep, extra sleep of the same 10 patients under drug 1 (x) and drug 2 (y); p = 1")
)
out$paired <- lapply(paired, function(o) {
  D <- o$x - o$y
  r <- T2.test(D, mu = 0)
  rec <- c(list(name = o$name, source = o$source, n = nrow(D), p = ncol(D),
                X = unname(o$x), Y = unname(o$y), differences = unname(D)),
           t2_record(r))
  if (ncol(D) == 1) {                 # p = 1: T2 is the squared paired t statistic
    tt <- t.test(o$x[, 1], o$y[, 1], paired = TRUE)
    stopifnot(all.equal(rec$T2, unname(tt$statistic)^2), all.equal(rec$p.value_upper_tail, tt$p.value))
    rec$paired_t_statistic <- unname(tt$statistic)
    rec$paired_t_p.value <- tt$p.value
  }
  rec
})

write_fixture(out, "hotelling.json")
