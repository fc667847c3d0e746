class A:
    def a(self):
        return 1


class B:
    def b(self):
        return 2


class C(A, B):
    pass


def rule(event):
    return C().a() == 1
