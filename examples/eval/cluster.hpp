#pragma once
// The processes of one cascadev-eval run: with MPI (built with CASCADEV_HAVE_MPI and
// started by mpirun or a scheduler) N ranks that shard the clips; without, one process.
// Only what eval needs: rank/size, the ranks sharing this machine, gathering strings on
// rank 0, an all-ranks "did everyone succeed", and aborting the whole job.
#include <cstdlib>
#include <string>
#include <vector>

#ifdef CASCADEV_HAVE_MPI
#include <mpi.h>
#endif

namespace cascadev::examples {

class Cluster {
public:
    Cluster(int* argc, char*** argv) {
#ifdef CASCADEV_HAVE_MPI
        MPI_Init(argc, argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
        MPI_Comm local;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
        MPI_Comm_rank(local, &local_rank_);
        MPI_Comm_size(local, &local_size_);
        MPI_Comm_free(&local);
#else
        (void)argc;
        (void)argv;
#endif
    }
    ~Cluster() {
#ifdef CASCADEV_HAVE_MPI
        MPI_Finalize();
#endif
    }
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }
    int local_rank() const { return local_rank_; }  ///< among the ranks on this machine (picks the GPU)
    int local_size() const { return local_size_; }
    bool root() const { return rank_ == 0; }

    /// Every rank's string, on rank 0 (in rank order); empty elsewhere.
    std::vector<std::string> gather(const std::string& mine) const {
#ifdef CASCADEV_HAVE_MPI
        if (size_ > 1) {
            long long n = (long long)mine.size();
            std::vector<long long> sizes(root() ? size_ : 0);
            MPI_Gather(&n, 1, MPI_LONG_LONG, sizes.data(), 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
            std::vector<std::string> all;
            if (root()) {
                all.push_back(mine);
                for (int r = 1; r < size_; ++r) {
                    std::string s(std::size_t(sizes[r]), '\0');
                    MPI_Recv(s.data(), int(s.size()), MPI_CHAR, r, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    all.push_back(std::move(s));
                }
            } else {
                MPI_Send(mine.data(), int(mine.size()), MPI_CHAR, 0, 7, MPI_COMM_WORLD);
            }
            return all;
        }
#endif
        return {mine};
    }

    /// True when `ok` is true on every rank.
    bool all(bool ok) const {
#ifdef CASCADEV_HAVE_MPI
        if (size_ > 1) {
            int mine = ok ? 1 : 0, every = 0;
            MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
            return every == 1;
        }
#endif
        return ok;
    }

    /// Ends every rank (an error on one rank must not leave the others waiting).
    [[noreturn]] void abort(int code) const {
#ifdef CASCADEV_HAVE_MPI
        if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
        std::exit(code);
    }

private:
    int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace cascadev::examples
