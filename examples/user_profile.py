"""Three API calls at once with ``parallel``: the Go article's user profile.

The "API" is three functions that take 100 ms each, so the profile takes
about 100 ms instead of 300. Results are assigned from inside the functions;
``parallel`` returns only the errors.

    python examples/user_profile.py
"""

# What tests/test_examples.py checks the output for (one regex a line):
# expect: ^User: Ada Lovelace, Posts: 3, Followers: 1$
# expect: ^Profile 42 failed: LookupError\('no user 42'\)$

from __future__ import annotations

import time
from dataclasses import dataclass

from bigopool import parallel


@dataclass
class User:
    id: int
    name: str


@dataclass
class Post:
    title: str


USERS = {1: "Ada Lovelace", 2: "Alan Turing"}


class FakeAPI:
    """Stands in for a remote service: every call takes 100 ms."""

    def get_user(self, user_id: int) -> User:
        time.sleep(0.1)
        if user_id not in USERS:
            raise LookupError(f"no user {user_id}")
        return User(user_id, USERS[user_id])

    def get_user_posts(self, user_id: int) -> list[Post]:
        time.sleep(0.1)
        return [Post(f"note {n}") for n in range(3)]

    def get_user_followers(self, user_id: int) -> list[User]:
        time.sleep(0.1)
        return [User(other, name) for other, name in USERS.items() if other != user_id]


api = FakeAPI()


def fetch_user_profile(user_id: int) -> None:
    """Print the user's profile; raise an ExceptionGroup if a call failed."""
    user: User | None = None
    posts: list[Post] = []
    followers: list[User] = []

    def load_user() -> None:
        nonlocal user
        user = api.get_user(user_id)

    def load_posts() -> None:
        nonlocal posts
        posts = api.get_user_posts(user_id)

    def load_followers() -> None:
        nonlocal followers
        followers = api.get_user_followers(user_id)

    errors = parallel(load_user, load_posts, load_followers)
    if error := errors.to_error():
        raise error

    assert user is not None
    print(f"User: {user.name}, Posts: {len(posts)}, Followers: {len(followers)}")


def main() -> None:
    started = time.perf_counter()
    fetch_user_profile(1)
    print(f"Three 100 ms calls took {time.perf_counter() - started:.2f} s together")

    try:
        fetch_user_profile(42)
    except ExceptionGroup as group:
        print(f"Profile 42 failed: {group.exceptions[0]!r}")


if __name__ == "__main__":
    main()
