pipeline {
    agent any
    libraries {
        library('x@1')  // <-- libraries-lib
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
