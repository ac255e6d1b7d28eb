//! P3P tested the way PoseLib benchmarks minimal solvers: many random problems, the share
//! where the true pose is among the solutions, and the number of solutions per problem.
//! Rotations are compared with the Frobenius norm of the difference.

mod common;

use common::Rand;
use trn_flight::p3p::p3p;
use trn_flight::{Pose, Vec3};

struct Stats {
    problems: usize,
    found: usize,
    solutions: usize,
    worst_rot: f64,
}

/// Runs `count` problems; each draws a true pose and three (depth, bearing) pairs.
fn run(
    count: usize,
    seed: u64,
    mut problem: impl FnMut(&mut Rand) -> (Pose, [Vec3; 3], [f64; 3]),
) -> Stats {
    let mut r = Rand::new(seed);
    let mut s = Stats {
        problems: count,
        found: 0,
        solutions: 0,
        worst_rot: 0.0,
    };
    for _ in 0..count {
        let (pose, bearings, depths) = problem(&mut r);
        let rot_c2s = pose.attitude.to_mat3();
        let world = [0, 1, 2].map(|i| rot_c2s.mul_vec(bearings[i] * depths[i]) + pose.position);
        let (r_true, t_true) = pose.world_to_camera();
        let scale = depths.iter().sum::<f64>() / 3.0;
        let sols = p3p(&bearings, &world).expect("well-posed problem");
        s.solutions += sols.len();
        let mut best_rot = f64::INFINITY;
        let mut found = false;
        for sol in sols.as_slice() {
            let dr = sol.rotation.frobenius_distance(&r_true);
            let dt = (sol.translation - t_true).norm() / scale;
            best_rot = best_rot.min(dr);
            found |= dr < 1e-6 && dt < 1e-6;
        }
        if found {
            s.found += 1;
            s.worst_rot = s.worst_rot.max(best_rot);
        }
    }
    s
}

fn report(name: &str, s: &Stats) {
    println!(
        "{name}: {} problems, true pose found in {:.3} %, {:.3} solutions per problem, worst rotation error among found {:.2e}",
        s.problems,
        100.0 * s.found as f64 / s.problems as f64,
        s.solutions as f64 / s.problems as f64,
        s.worst_rot
    );
}

#[test]
fn wide_fov_random_problems() {
    // PoseLib's generator: random rotation and centre, points in front at depths 0.1..10
    // inside a wide (120 deg) field of view.
    let s = run(100_000, 1, |r| {
        let pose = Pose::new(
            Vec3::new(
                r.uniform(-1.0, 1.0),
                r.uniform(-1.0, 1.0),
                r.uniform(-1.0, 1.0),
            ),
            r.rotation(),
        );
        let b = [0, 1, 2].map(|_| r.bearing_in_fov(60f64.to_radians()));
        let d = [0, 1, 2].map(|_| r.uniform(0.1, 10.0));
        (pose, b, d)
    });
    report("wide FOV", &s);
    assert!(
        s.found as f64 >= 0.999 * s.problems as f64,
        "true pose found in only {} of {}",
        s.found,
        s.problems
    );
    assert!(s.solutions as f64 / (s.problems as f64) < 2.5);
}

#[test]
fn lander_geometry_random_problems() {
    // A 60 deg descent camera at 100 m to 15 km over terrain: points 100 m to 15 km away.
    let s = run(100_000, 2, |r| {
        let altitude = r.uniform(100.0, 15_000.0);
        let pose = common::lander_pose(r, altitude, 0.6);
        let b = [0, 1, 2].map(|_| r.bearing_in_fov(30f64.to_radians()));
        let d = [0, 1, 2].map(|_| r.uniform(100.0, 15_000.0));
        (pose, b, d)
    });
    report("lander", &s);
    assert!(
        s.found as f64 >= 0.9995 * s.problems as f64,
        "true pose found in only {} of {}",
        s.found,
        s.problems
    );
}

#[test]
fn every_solution_reprojects_its_three_points() {
    // Not only the true pose: every returned pose must explain the input exactly and have
    // the points in front of the camera.
    let mut r = Rand::new(3);
    for _ in 0..10_000 {
        let pose = Pose::new(
            Vec3::new(r.uniform(-1.0, 1.0), r.uniform(-1.0, 1.0), 0.0),
            r.rotation(),
        );
        let b = [0, 1, 2].map(|_| r.bearing_in_fov(50f64.to_radians()));
        let d = [0, 1, 2].map(|_| r.uniform(1.0, 10.0));
        let world = [0, 1, 2].map(|i| pose.attitude.to_mat3().mul_vec(b[i] * d[i]) + pose.position);
        for sol in p3p(&b, &world).unwrap().as_slice() {
            for i in 0..3 {
                let xc = sol.apply(world[i]);
                assert!(xc.z > 0.0);
                let err = (xc.try_normalize().unwrap() - b[i]).norm();
                assert!(err < 1e-7, "bearing error {err}");
            }
        }
    }
}
